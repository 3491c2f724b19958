// Keys for the inbox: j/k move between alerts, x selects one, 1–6 pick an outcome (then Enter applies),
// o opens the alert. The page works without it: checkboxes, a select and a button in one form.
document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("inbox-form");
  if (!form) return;
  const boxes = Array.from(form.querySelectorAll('#inbox-table tbody input[name="alerts"]'));
  const outcome = document.getElementById("id_outcome");
  const apply = document.getElementById("inbox-apply");
  const all = document.getElementById("inbox-select-all");
  let current = -1;

  document.getElementById("inbox-keys").hidden = false;
  all.addEventListener("change", () => boxes.forEach((box) => { box.checked = all.checked; }));
  boxes.forEach((box, index) => box.addEventListener("focus", () => { current = index; }));

  const move = (step) => {
    if (!boxes.length) return;
    current = Math.min(Math.max(current + step, 0), boxes.length - 1);
    boxes[current].focus();
    boxes[current].scrollIntoView({ block: "nearest" });
  };

  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const target = event.target;
    // Typing a note (or choosing in the select) is not a shortcut.
    if (target.tagName === "TEXTAREA" || target.tagName === "SELECT") return;
    if (target.tagName === "INPUT" && target.type !== "checkbox") return;
    if (event.key === "j") move(1);
    else if (event.key === "k") move(-1);
    else if (event.key === "x" && current >= 0) boxes[current].checked = !boxes[current].checked;
    else if (event.key === "o" && current >= 0) {
      window.location = boxes[current].closest("tr").querySelector("td.when a").href;
    } else if (/^[1-6]$/.test(event.key)) {
      const option = outcome.querySelector(`option[data-key="${event.key}"]`);
      if (!option) return;  // duplicate: labelled on the alert's own page
      outcome.value = option.value;
      apply.focus();
    } else return;
    event.preventDefault();
  });
});
