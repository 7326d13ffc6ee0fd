// Retention: how many users come back (POST /retention). A placeholder for now.

import { placeholderPage } from "./placeholder.js";

export default placeholderPage({
  id: "retention",
  title: "Retention",
  icon: "retention",
  kind: "retention",
  what: "How many users come back after their first event, period after period.",
});
