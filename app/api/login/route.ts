import { login } from "@/lib/api/login";
import { FORM_PAGES } from "@/lib/http/gate";
import { endpoint } from "@/lib/http/route";
import { sessionRoute } from "../../../lib/next/session";

export const dynamic = "force-dynamic";
export const { GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS } = endpoint({ POST: sessionRoute(login, { formPage: FORM_PAGES["/api/login"] }) });
