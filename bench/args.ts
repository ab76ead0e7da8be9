/** Command-line options shared by the A/B benches (bench/flows-ab.ts, bench/encoding.ts). */
import { STORES, type StoreLabel } from "./servers";

export function cliOptions(args: string[]) {
  const option = (name: string): string | undefined => {
    const i = args.indexOf(name);
    return i === -1 ? undefined : args[i + 1];
  };
  return {
    option,
    /** A whole number of at least 1, or the fallback when the option is absent. */
    positive(name: string, fallback: number): number {
      const value = Number(option(name) ?? fallback);
      if (!Number.isInteger(value) || value < 1) throw new Error(`${name} wants a positive integer`);
      return value;
    },
    /** `--store`, one of the benchmark's stores (cookie by default). */
    store(): StoreLabel {
      const store = (option("--store") ?? "cookie") as StoreLabel;
      if (!STORES.includes(store)) throw new Error(`--store takes one of ${STORES.join(", ")}`);
      return store;
    },
  };
}
