import { password } from "@/lib/api/password";
import { endpoint } from "@/lib/http/route";
import { sessionRoute } from "../../../lib/next/session";

export const dynamic = "force-dynamic";
export const { GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS } = endpoint({ POST: sessionRoute(password, { formPage: "/password" }) });
