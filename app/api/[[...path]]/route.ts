import { unknownEndpoint } from "@/lib/http/route";

// `/api` itself and any other path under it answer the contract's JSON 404 for every method, never Next's HTML page.
export const dynamic = "force-dynamic";
export { unknownEndpoint as GET, unknownEndpoint as HEAD, unknownEndpoint as POST, unknownEndpoint as PUT, unknownEndpoint as PATCH, unknownEndpoint as DELETE, unknownEndpoint as OPTIONS };
