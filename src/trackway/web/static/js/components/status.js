// Loading, error and empty states, announced to screen readers.

import { h, replace } from "../dom.js";

export function showLoading(el, text = "Loading…") {
  el.setAttribute("aria-busy", "true");
  return replace(el, h("div", { class: "status", role: "status" }, h("span", { class: "spinner" }), text));
}

/** An error said plainly: what failed and the API's own message (which names the field or
 * the position in an expression). */
export function showError(el, error, title = "The report could not run") {
  el.removeAttribute("aria-busy");
  const message = error && error.message ? error.message : String(error);
  return replace(
    el,
    h("div", { class: "status error", role: "alert" },
      h("div", {}, h("strong", {}, title), h("p", { class: "message" }, message))),
  );
}

export function showEmpty(el, text) {
  el.removeAttribute("aria-busy");
  return replace(el, h("div", { class: "status empty" }, text));
}

export function done(el) {
  el.removeAttribute("aria-busy");
}

/** Whether an error only says the request was abandoned (the page was left). */
export function aborted(error) {
  return error && error.name === "AbortError";
}
