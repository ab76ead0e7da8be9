import { forget, saveName } from "./actions";
import { read } from "../lib/session";

// The page shows the visitor's own session, so it is rendered per request, never at build.
export const dynamic = "force-dynamic";

/** Reads the session (a server component may read, never write) and offers the action that writes it. */
export default async function Home() {
  const session = await read();
  const name = await session.get<string>("name");
  const visits = (await session.get<number>("visits")) ?? 0;

  return (
    <main>
      <h1>@holdfast/session</h1>
      <p data-testid="greeting">{name ? `Hello, ${name}.` : "Hello, stranger."}</p>
      <p>
        <code>POST /api/counter</code> calls counted in this session: <strong data-testid="visits">{visits}</strong>
      </p>
      <p data-testid="state">Session: {await session.state()}</p>
      <form action={saveName}>
        <label>
          Your name <input name="name" defaultValue={name ?? ""} maxLength={60} autoComplete="off" />
        </label>{" "}
        <button type="submit">Save</button>
      </form>
      <form action={forget}>
        <button type="submit">Forget me</button>
      </form>
    </main>
  );
}
