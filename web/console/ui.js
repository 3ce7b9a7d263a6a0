// Small DOM helpers: elements, tables, the notice line, formatting. No framework.

/** h("td", { class: "num" }, "42"): an element with attributes (on* are listeners) and children. */
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on")) element.addEventListener(name.slice(2), value);
    else if (value === true) element.setAttribute(name, "");
    else element.setAttribute(name, String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}

/** A table with a caption: `columns` are [header, cell(row) → node or text, numeric?]. */
export function table(caption, columns, rows, empty = "Nothing yet.") {
  const head = h(
    "tr",
    {},
    columns.map(([name, , numeric]) => h("th", { scope: "col", class: numeric ? "num" : null }, name)),
  );
  const body = rows.length
    ? rows.map((row) =>
        h(
          "tr",
          {},
          columns.map(([, cell, numeric]) => h("td", { class: numeric ? "num" : null }, cell(row))),
        ),
      )
    : [h("tr", {}, h("td", { colspan: columns.length, class: "muted" }, empty))];
  return h(
    "div",
    { class: "scroll" },
    h("table", {}, h("caption", {}, caption), h("thead", {}, head), h("tbody", {}, body)),
  );
}

/** A labelled control: label text above the input. */
export function field(label, control) {
  return h("label", {}, label, control);
}

/** Shows an error (the API's code and message) or a confirmation in the notice line. */
export function notify(message, ok = false) {
  const notice = document.getElementById("notice");
  notice.className = ok ? "ok" : "";
  notice.textContent = message;
}

export function clearNotice() {
  notify("");
}

/** Runs `action`, showing its failure as the API's error envelope says. */
export async function attempt(action) {
  try {
    return await action();
  } catch (error) {
    notify(
      error.code
        ? `${error.code}: ${error.message.replace(`${error.code}: `, "")}`
        : String(error.message ?? error),
    );
    return undefined;
  }
}

export const time = (ms) =>
  typeof ms === "number" ? new Date(ms).toISOString().replace("T", " ").replace("Z", "") : "";
export const json = (value) => h("code", {}, JSON.stringify(value));
export const badge = (text, good) => h("span", { class: `badge ${good ? "good" : "bad"}` }, text);

/** Asks before something that cannot be undone: the user types `name` to confirm. */
export function confirmByName(what, name) {
  return new Promise((resolve) => {
    const input = h("input", { "aria-label": `Type ${name} to confirm`, autocomplete: "off" });
    const dialog = h(
      "dialog",
      { "aria-label": `Confirm: ${what}` },
      h(
        "form",
        { method: "dialog" },
        h("p", {}, `${what}. This cannot be undone. Type `, h("strong", {}, name), " to confirm."),
        input,
        h(
          "div",
          { class: "actions" },
          h("button", { value: "yes", class: "danger" }, "Delete"),
          h("button", { value: "no", class: "secondary", formnovalidate: true }, "Cancel"),
        ),
      ),
    );
    dialog.addEventListener("close", () => {
      resolve(dialog.returnValue === "yes" && input.value === name);
      dialog.remove();
    });
    document.body.append(dialog);
    dialog.showModal();
    input.focus();
  });
}

/**
 * A delete button for one named thing: asks for its name first (confirmByName), runs
 * `remove`, then goes back to `listHash` and says it is done.
 */
export function deleteButton(what, name, remove, listHash) {
  return h(
    "button",
    {
      class: "danger",
      type: "button",
      onclick: async () => {
        if (!(await confirmByName(`Delete ${what} ${name}`, name))) return;
        if (!(await attempt(() => remove().then(() => true)))) return;
        location.hash = listHash;
        notify(`${what[0].toUpperCase()}${what.slice(1)} ${name} deleted.`, true);
      },
    },
    `Delete ${what} ${name}…`,
  );
}
