// Waymark's in-page helper. The runner evaluates `(<this function>)(req)`
// for every element lookup: one round trip finds the element, waits (in the
// page, without polling over the wire) until it is in the wanted state, and
// returns what the Go side needs (a point to click, a value to compare) or a
// diagnosis of why it never got there.
async (req) => {
  const norm = (s) => (s || "").replace(/\s+/g, " ").trim().toLowerCase();
  const isVisible = (el) => {
    if (!el.isConnected) return false;
    if (el.checkVisibility && !el.checkVisibility({ opacityProperty: true, visibilityProperty: true })) return false;
    const r = el.getBoundingClientRect();
    return r.width > 0 && r.height > 0;
  };
  const isEnabled = (el) =>
    !el.disabled && !el.closest("fieldset[disabled]") && el.getAttribute("aria-disabled") !== "true";
  const textOf = (el) =>
    el instanceof HTMLInputElement && /^(submit|button|reset)$/i.test(el.type) ? el.value : el.innerText;
  // checkedOf reads a checkbox, a radio or an ARIA toggle (role=checkbox,
  // switch, menuitemcheckbox…) the way a person sees it.
  const checkedOf = (el) =>
    el instanceof HTMLInputElement && /^(checkbox|radio)$/i.test(el.type) ? el.checked : el.getAttribute("aria-checked") === "true";
  // labelsOf are the labels that toggle el when clicked: its <label for>,
  // the <label> around it, or the element naming it by aria-labelledby.
  const labelsOf = (el) => {
    const out = Array.from(el.labels || []);
    const around = el.closest && el.closest("label");
    if (around && !out.includes(around)) out.push(around);
    for (const id of (el.getAttribute("aria-labelledby") || "").split(/\s+/)) {
      const l = id && document.getElementById(id);
      if (l && !out.includes(l)) out.push(l);
    }
    return out;
  };
  const describe = (el) => {
    if (!el) return "";
    let s = el.tagName.toLowerCase();
    if (el.id) s += "#" + el.id;
    const dt = el.getAttribute && el.getAttribute("data-test");
    if (dt) s += `[data-test=${dt}]`;
    else if (el.classList && el.classList.length) s += "." + Array.from(el.classList).slice(0, 2).join(".");
    return s;
  };

  const find = (loc) => {
    switch (loc.kind) {
      case "css":
        return Array.from(document.querySelectorAll(loc.value));
      case "xpath": {
        const r = document.evaluate(loc.value, document, null, XPathResult.ORDERED_NODE_SNAPSHOT_TYPE, null);
        const out = [];
        for (let i = 0; i < r.snapshotLength; i++) {
          const n = r.snapshotItem(i);
          if (n.nodeType === 1) out.push(n);
        }
        return out;
      }
      default: {
        // text= (exact) and text~= (contains): the smallest visible
        // elements whose visible text matches, case-insensitive, trimmed.
        const want = norm(loc.value);
        const contains = loc.kind === "text~";
        const ok = (t) => (contains ? t.includes(want) : t === want);
        const hits = [];
        if (!document.body) return hits;
        for (const el of document.body.querySelectorAll("*")) {
          if (/^(SCRIPT|STYLE|NOSCRIPT|TEMPLATE|HEAD)$/.test(el.tagName)) continue;
          const cheap = el instanceof HTMLInputElement ? norm(el.value) : norm(el.textContent);
          if (!cheap.includes(want)) continue;
          if (!isVisible(el)) continue;
          if (ok(norm(textOf(el)))) hits.push(el);
        }
        return hits.filter((h) => !hits.some((o) => o !== h && h.contains(o)));
      }
    }
  };

  // check looks once; it returns {done: true, …} when the wanted state holds.
  const check = () => {
    let els;
    try {
      els = find(req.loc);
    } catch (e) {
      return { done: true, invalid: String(e && e.message ? e.message : e) };
    }
    const count = els.length;
    const vis = els.filter(isVisible);
    const el = vis[0] || els[0];
    const base = { count, visible: vis.length, el: describe(el) };
    switch (req.state) {
      case "present":
        return { ...base, done: count > 0 };
      case "gone":
        return { ...base, done: count === 0 };
      case "visible":
        return { ...base, done: vis.length > 0 };
      case "hidden":
        return { ...base, done: vis.length === 0 };
      case "count":
        return { ...base, done: true };
      case "checked":
        if (!count) return { ...base, done: false, why: "missing" };
        return { ...base, done: checkedOf(el) === req.want };
      case "toggle": {
        // check/uncheck: a control already in the wanted state is left
        // alone, whether visible or not (a styled radio hides its input);
        // a hidden control is toggled through its visible label, as a
        // person would click it.
        if (!count) return { ...base, done: false, why: "missing" };
        const t = el;
        if (checkedOf(t) === req.want) return { ...base, done: true, already: true };
        if (!isEnabled(t)) return { ...base, done: false, why: "disabled" };
        const labels = labelsOf(t);
        const candidates = [t, ...labels].filter(isVisible);
        if (!candidates.length) return { ...base, done: false, why: "hidden, and it has no visible label" };
        const ours = (hit) => hit && [t, ...labels].some((c) => c === hit || c.contains(hit) || hit.contains(c));
        let why = "";
        for (const c of candidates) {
          let r = c.getBoundingClientRect();
          if (r.top < 0 || r.left < 0 || r.bottom > innerHeight || r.right > innerWidth) {
            c.scrollIntoView({ block: "center", inline: "center", behavior: "instant" });
            r = c.getBoundingClientRect();
          }
          // A label is clicked near its start, where the box usually is and
          // a link in its text ("I accept the terms") usually is not.
          const x = c === t ? r.left + r.width / 2 : r.left + Math.min(r.width / 2, 8);
          const y = r.top + r.height / 2;
          const hit = document.elementFromPoint(x, y);
          if (ours(hit)) return { ...base, done: true, x, y, via: c === t ? "" : describe(c) };
          why = "covered by " + describe(hit);
        }
        return { ...base, done: false, why };
      }
      case "actionable":
      case "editable": {
        if (!vis.length) return { ...base, done: false, why: count ? "hidden" : "missing" };
        const t = vis[0];
        if (!isEnabled(t)) return { ...base, done: false, why: "disabled" };
        if (req.state === "editable" && (t.readOnly || !(t.isContentEditable || "value" in t)))
          return { ...base, done: false, why: "not editable" };
        let r = t.getBoundingClientRect();
        if (r.top < 0 || r.left < 0 || r.bottom > innerHeight || r.right > innerWidth) {
          t.scrollIntoView({ block: "center", inline: "center", behavior: "instant" });
          r = t.getBoundingClientRect();
        }
        const x = r.left + r.width / 2;
        const y = r.top + r.height / 2;
        if (req.state === "actionable") {
          const hit = document.elementFromPoint(x, y);
          if (hit && hit !== t && !t.contains(hit) && !hit.contains(t))
            return { ...base, done: false, why: "covered by " + describe(hit) };
        }
        return { ...base, done: true, x, y, target: t };
      }
    }
    return { ...base, done: true, invalid: "unknown state " + req.state };
  };

  const deadline = performance.now() + req.timeout;
  let r = check();
  while (!r.done && performance.now() < deadline) {
    await new Promise((res) => setTimeout(res, 15));
    r = check();
  }
  const out = { ok: r.done && !r.invalid, count: r.count, visible: r.visible, el: r.el, why: r.why || "", invalid: r.invalid || "", x: r.x || 0, y: r.y || 0, already: !!r.already, via: r.via || "" };
  if (!out.ok) return out;

  const t = r.target || find(req.loc).filter(isVisible)[0] || find(req.loc)[0];
  // The runner asks for the element itself (not by value) to hand it to
  // the DevTools protocol, e.g. to set an upload's files.
  if (req.op === "element") {
    if (!(t instanceof HTMLInputElement) || t.type !== "file") return describe(t) + " is not an <input type=file>";
    return t;
  }
  switch (req.op) {
    case "focus":
      t.focus();
      if (req.clear) {
        if (t.isContentEditable) {
          document.getSelection().selectAllChildren(t);
        } else {
          t.select && t.select();
          if (req.empty) {
            t.value = "";
            t.dispatchEvent(new Event("input", { bubbles: true }));
          }
        }
      }
      break;
    case "select": {
      const opts = Array.from(t.options || []);
      const want = req.value;
      const o = opts.find((o) => o.value === want) || opts.find((o) => norm(o.label) === norm(want));
      if (!o) {
        out.ok = false;
        out.refused = "no option " + JSON.stringify(want) + "; options: " + opts.map((o) => o.value + (o.label !== o.value ? ` (${o.label.trim()})` : "")).join(", ");
        break;
      }
      t.value = o.value;
      t.dispatchEvent(new Event("input", { bubbles: true }));
      t.dispatchEvent(new Event("change", { bubbles: true }));
      break;
    }
    case "read":
      switch (req.what) {
        case "text":
          out.value = (textOf(t) || "").replace(/\s+/g, " ").trim();
          break;
        case "value":
          out.value = t.value === undefined ? "" : String(t.value);
          break;
        case "attribute":
          out.value = t.getAttribute(req.name);
          out.has = t.hasAttribute(req.name);
          break;
        case "checked":
          out.value = String(checkedOf(t));
          break;
      }
      break;
    case "scroll":
      t.scrollIntoView({ block: "center", inline: "center", behavior: "instant" });
      break;
  }
  return out;
}
