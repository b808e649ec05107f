// Enter on a focused cell of a grid whose rows open something (class "nav-grid") opens that
// row, exactly as a click does: the grid's cellClicked callback does the navigation.
// Listened to while capturing, because the grid handles Enter itself and stops it bubbling.
document.addEventListener(
  "keydown",
  function (event) {
    if (event.key !== "Enter") {
      return;
    }
    var active = document.activeElement;
    var cell = active && active.closest ? active.closest(".nav-grid .ag-cell") : null;
    if (cell) {
      event.preventDefault();
      cell.click();
    }
  },
  true
);
