// Progress page: poll the job until it is done, then open its result.
(function () {
  "use strict";
  const root = document.getElementById("job");
  const bar = document.getElementById("bar");
  const step = document.getElementById("step");
  const pct = document.getElementById("pct");
  const elapsed = document.getElementById("elapsed");
  const error = document.getElementById("error");
  function poll() {
    fetch(root.dataset.api, { cache: "no-store" })
      .then((r) => r.json())
      .then((j) => {
        const p = Math.round(100 * (j.status === "done" ? 1 : j.fraction));
        bar.style.width = p + "%";
        pct.textContent = p + "%";
        step.textContent = j.status === "running" ? j.step : j.status;
        elapsed.textContent = j.elapsed_s + " s";
        if (j.status === "done") {
          window.location.href = j.result_url;
        } else if (j.status === "failed") {
          error.textContent = j.message || "the analysis failed";
          error.hidden = false;
        } else {
          setTimeout(poll, 500);
        }
      })
      .catch(() => setTimeout(poll, 1500));
  }
  poll();
})();
