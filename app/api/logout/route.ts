import { logout } from "@/lib/api/logout";
import { FORM_PAGES } from "@/lib/http/gate";
import { endpoint } from "@/lib/http/route";
import { sessionRoute } from "../../../lib/next/session";

export const dynamic = "force-dynamic";
export const { GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS } = endpoint({ POST: sessionRoute(logout, { formPage: FORM_PAGES["/api/logout"] }) });
