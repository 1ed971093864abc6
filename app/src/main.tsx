// Web3 libraries expect Node's Buffer: give them the browser build before they load.
import { Buffer } from "buffer";
(globalThis as unknown as { Buffer: typeof Buffer }).Buffer ??= Buffer;

import { createRoot } from "react-dom/client";

import "./styles.css";

const root = createRoot(document.getElementById("root")!);
// Imported after the polyfill is in place.
const { App } = await import("./App");
root.render(<App />);
