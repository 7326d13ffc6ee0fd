// Cohorts: saved groups of users (the /cohorts API). A placeholder for now.

import { placeholderPage } from "./placeholder.js";

export default placeholderPage({
  id: "cohorts",
  title: "Cohorts",
  icon: "cohorts",
  kind: null,
  what: "Groups of users defined by what they did and who they are.",
});
