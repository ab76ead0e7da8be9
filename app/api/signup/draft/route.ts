import { saveSignupDraft } from "@/lib/api/signup-draft";
import { FORM_PAGES } from "@/lib/http/gate";
import { endpoint } from "@/lib/http/route";
import { sessionRoute } from "../../../../lib/next/session";

export const dynamic = "force-dynamic";
export const { GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS } = endpoint({ POST: sessionRoute(saveSignupDraft, { formPage: FORM_PAGES["/api/signup/draft"] }) });
