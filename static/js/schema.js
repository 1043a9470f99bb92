// The event model and the state table, as the server puts them in the page (#gs-schema):
// `runtime.trace.states.schema()`. Every module takes states, labels and kinds from here.

import { Model } from "./events.js";

export const model = new Model(JSON.parse(document.getElementById("gs-schema").textContent));
