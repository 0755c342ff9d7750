// The overread: a decision per finding, added statements, a comment, and the signature.
// Earlier overreads stay visible; a later one is an amendment.
import { api } from "./api.js";
import { announce, clear, h, uid } from "./dom.js";
import { formatDateTime } from "./format.js";

const DECISIONS = [["accept", "Accept"], ["reject", "Reject"], ["edit", "Edit"]];

function decisionRow(f) {
  const name = uid(`decision-${f.code}`);
  const editId = uid("edit");
  const edit = h("input", { id: editId, type: "text", class: "edit-label", value: f.label,
    disabled: true, hidden: true, "aria-label": `Edited statement for ${f.label}` });
  const radios = DECISIONS.map(([value, text]) => {
    const id = uid("r");
    const input = h("input", { type: "radio", id, name, value,
      onchange: () => {
        edit.disabled = value !== "edit";
        edit.hidden = edit.disabled;
        if (!edit.disabled) edit.focus();
      } });
    return h("span", { class: `seg seg-${value}` }, input, h("label", { for: id, text }));
  });
  const fieldset = h("fieldset", { class: "decision", "data-code": f.code },
    h("legend", { class: "sr-only", text: f.label }),
    h("div", { class: "decision-row" },
      h("span", { class: "decision-label", "aria-hidden": "true" }, f.label,
        h("span", { class: `muted small ${f.confident ? "" : "possible-tag"}`,
          text: f.confident ? " confident" : " possible" })),
      h("div", { class: "segmented" }, radios)),
    edit);
  return {
    fieldset,
    value() {
      const chosen = fieldset.querySelector("input[type=radio]:checked");
      if (!chosen) return null;
      return { code: f.code, decision: chosen.value,
        label: chosen.value === "edit" ? edit.value.trim() || null : null };
    },
    accept() {
      fieldset.querySelector("input[value=accept]").checked = true;
      edit.disabled = true;
      edit.hidden = true;
    },
  };
}

function addedRow(onRemove) {
  const codeId = uid("code");
  const textId = uid("text");
  const code = h("input", { id: codeId, type: "text", class: "code-input", maxlength: 16,
    placeholder: "e.g. LVH" });
  const text = h("input", { id: textId, type: "text", class: "text-input", placeholder: "Statement" });
  const row = h("div", { class: "added-row" },
    h("div", { class: "field" }, h("label", { for: codeId, text: "Code (optional)" }), code),
    h("div", { class: "field grow" }, h("label", { for: textId, text: "Statement" }), text),
    h("button", { type: "button", class: "btn btn-quiet btn-small", text: "Remove",
      onclick: () => { row.remove(); onRemove(); } }));
  return { row, value: () => (text.value.trim()
    ? { code: code.value.trim() || null, text: text.value.trim() } : null), focus: () => text.focus() };
}

function history(overreads, labels) {
  if (!overreads.length) return h("p", { class: "muted", text: "No overread yet." });
  return h("ol", { class: "history" }, overreads.map((o, i) => {
    const signed = o.signed ?? o.sign;
    const who = o.author || o.username || o.user || "unknown";
    const verbs = { accept: "accepted", reject: "rejected", edit: "edited" };
    const decisions = (o.decisions || []).map((d) =>
      `${labels.get(d.code) || d.code}: ${verbs[d.decision] || d.decision}` +
      (d.label ? ` → “${d.label}”` : ""));
    const added = (o.added || []).map((a) => `+ ${a.code ? `${a.code}: ` : ""}${a.text}`);
    return h("li", { class: "overread" },
      h("div", { class: "overread-head" },
        h("strong", { text: who }),
        h("span", { class: "muted", text: ` ${formatDateTime(o.created_at || o.created)}` }),
        signed ? h("span", { class: "badge signed", text: i < overreads.length - 1 && overreads.slice(i + 1).some((x) => x.signed ?? x.sign) ? "Signed amendment" : "Signed" })
          : h("span", { class: "badge draft", text: "Not signed" })),
      decisions.length || added.length
        ? h("ul", { class: "plain small" }, [...decisions, ...added].map((t) => h("li", { text: t }))) : null,
      o.comment ? h("p", { class: "comment", text: o.comment }) : null);
  }));
}

export async function renderOverreads(panel, ecg, result, user) {
  let overreads = ecg.overreads;
  if (!Array.isArray(overreads)) {
    try {
      overreads = await api.overreads(ecg.id);
    } catch {
      overreads = [];
    }
  }
  if (!Array.isArray(overreads)) overreads = overreads && overreads.items ? overreads.items : [];
  const labels = new Map((result.findings || []).map((f) => [f.code, f.label]));
  const historyBox = h("div", { class: "history-box" }, history(overreads, labels));
  clear(panel).append(h("h2", { id: "overread-title", text: "Overread" }));
  if (user.role !== "clinician") {
    panel.append(h("p", { class: "muted", text: "Only clinicians overread." }), historyBox);
    return;
  }
  // the same order as the findings panel: confident first
  const findings = result.findings || [];
  const ordered = [...findings.filter((f) => f.confident),
    ...findings.filter((f) => !f.confident).sort((a, b) => (b.probability ?? 1) - (a.probability ?? 1))];
  const rows = ordered.map(decisionRow);
  const addedBox = h("div", { class: "added" });
  const added = [];
  const addButton = h("button", { type: "button", class: "btn btn-quiet btn-small", text: "+ Add statement",
    onclick: () => {
      const r = addedRow(() => added.splice(added.indexOf(r), 1));
      added.push(r);
      addedBox.append(r.row);
      r.focus();
    } });
  const commentId = uid("comment");
  const comment = h("textarea", { id: commentId, rows: 3, placeholder: "Comment for the record" });
  const signId = uid("sign");
  // defaultChecked: form.reset() after saving brings back "sign", not an unchecked box
  const sign = h("input", { id: signId, type: "checkbox", defaultChecked: true });
  const message = h("p", { class: "form-message", role: "status" });
  const submit = h("button", { type: "submit", class: "btn btn-primary" });
  const label = () => {
    const amend = overreads.some((o) => o.signed ?? o.sign);
    submit.textContent = sign.checked ? (amend ? "Sign amendment" : "Sign overread")
      : "Save without signing";
  };
  label();
  sign.addEventListener("change", label);
  const form = h("form", { class: "overread-form", "aria-labelledby": "overread-title" },
    rows.length ? h("div", { class: "decisions-head" },
      h("span", { class: "muted small", text: "Decide on each finding" }),
      h("button", { type: "button", class: "btn btn-quiet btn-small", text: "Accept all confident",
        onclick: () => rows.forEach((r, i) => { if (ordered[i].confident) r.accept(); }) })) : null,
    rows.map((r) => r.fieldset),
    h("div", { class: "added-head" }, h("span", { class: "small-title", text: "Added statements" }), addButton),
    addedBox,
    h("label", { for: commentId, class: "small-title", text: "Comment" }), comment,
    h("div", { class: "form-actions" },
      h("div", { class: "check" }, sign, h("label", { for: signId, text: "Sign (marks the ECG read)" })),
      submit),
    message);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = {
      decisions: rows.map((r) => r.value()).filter(Boolean),
      added: added.map((a) => a.value()).filter(Boolean),
      comment: comment.value.trim(),
      sign: sign.checked,
    };
    const badEdit = body.decisions.find((d) => d.decision === "edit" && !d.label);
    if (badEdit) {
      message.textContent = `Write the edited statement for ${badEdit.code}.`;
      return;
    }
    submit.disabled = true;
    message.textContent = "Saving…";
    try {
      await api.addOverread(ecg.id, body);
      const fresh = await api.overreads(ecg.id);
      overreads = Array.isArray(fresh) ? fresh : (fresh && fresh.items) || [];
      clear(historyBox).append(history(overreads, labels));
      message.textContent = body.sign ? "Signed." : "Saved.";
      announce(body.sign ? "Overread signed" : "Overread saved");
      if (body.sign) panel.dispatchEvent(new CustomEvent("ecglens:signed", { bubbles: true }));
      form.reset();
      rows.forEach((r) => {
        const edit = r.fieldset.querySelector(".edit-label");
        edit.disabled = true;
        edit.hidden = true;
      });
      clear(addedBox);
      added.length = 0;
    } catch (e) {
      message.textContent = `Not saved: ${e.message}`;
    } finally {
      submit.disabled = false;
      label();
    }
  });
  panel.append(form, h("h3", { class: "small-title", text: "History" }), historyBox);
}
