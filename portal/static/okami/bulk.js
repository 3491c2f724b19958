// "Select all" for the bulk assignment of the alarm list. The page works without it.
document.addEventListener("DOMContentLoaded", () => {
  const all = document.getElementById("select-all");
  if (!all) return;
  all.addEventListener("change", () => {
    document.querySelectorAll('input[name="alarms"]').forEach((box) => { box.checked = all.checked; });
  });
});
