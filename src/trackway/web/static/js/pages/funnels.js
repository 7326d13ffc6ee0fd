// Funnels: conversion through ordered steps (POST /funnels). A placeholder for now.

import { placeholderPage } from "./placeholder.js";

export default placeholderPage({
  id: "funnels",
  title: "Funnels",
  icon: "funnels",
  kind: "funnels",
  what: "How many users go through a sequence of steps, and where they drop off.",
});
