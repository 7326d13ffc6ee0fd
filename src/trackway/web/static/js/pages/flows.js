// Flows: the paths users take before or after an event (POST /flows). A placeholder for now.

import { placeholderPage } from "./placeholder.js";

export default placeholderPage({
  id: "flows",
  title: "Flows",
  icon: "flows",
  kind: "flows",
  what: "The paths users take before and after an event.",
});
