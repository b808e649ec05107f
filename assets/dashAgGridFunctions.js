/* Grid cell formatters (dash-ag-grid reads window.dashAgGridFunctions).
 * The rules mirror components/formatting.py: money() / money_exact() / date(). */
var dagfuncs = (window.dashAgGridFunctions = window.dashAgGridFunctions || {});

(function () {
  var UNITS = [[1, "", 0], [1e3, "K", 1], [1e6, "M", 1], [1e9, "B", 1]];
  var MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

  function missing(value) {
    return value === null || value === undefined || value === "" || Number.isNaN(Number(value));
  }

  function grouped(text) {
    var parts = text.split(".");
    parts[0] = parts[0].replace(/\B(?=(\d{3})+(?!\d))/g, ",");
    return parts.join(".");
  }

  /* $950, $12.5K, $1.0M, -$3.4M: round first, then choose the unit (999,950 is $1.0M). */
  dagfuncs.compactMoney = function (value) {
    if (missing(value)) return "–";
    var n = Number(value);
    var v = Math.abs(n);
    var shown, unit;
    for (var i = 0; i < UNITS.length; i++) {
      unit = UNITS[i];
      shown = (v / unit[0]).toFixed(unit[2]);
      if (Number(shown) < 1000 || i === UNITS.length - 1) break;
    }
    var sign = n < 0 && Number(shown) !== 0 ? "-" : "";
    return sign + "$" + grouped(shown) + unit[1];
  };

  /* The exact amount to the dollar, for the tooltip: $5,305,120. */
  dagfuncs.exactMoney = function (value) {
    if (missing(value)) return "–";
    var n = Number(value);
    var shown = Math.abs(n).toFixed(0);
    return (n < 0 && Number(shown) !== 0 ? "-" : "") + "$" + grouped(shown);
  };

  /* ISO "2026-11-05" (or "2026-11-05T10:00:00") shown as "05 Nov 2026"; sorting keeps ISO. */
  dagfuncs.isoDate = function (value) {
    if (value === null || value === undefined || value === "") return "–";
    var m = /^(\d{4})-(\d{2})-(\d{2})/.exec(String(value));
    if (!m) return String(value);
    return m[3] + " " + MONTHS[Number(m[2]) - 1] + " " + m[1];
  };

  /* A code shown by its human label from a map built in components/labels.py; unknown codes as given. */
  dagfuncs.codeLabel = function (value, labels) {
    if (value === null || value === undefined || value === "") return "–";
    return Object.prototype.hasOwnProperty.call(labels, value) ? labels[value] : String(value);
  };
})();
