// Page state (toggles, search text, grid sort) lives in the URL's query string, written with
// history.replaceState: the address bar is always a shareable link to the view, reload and back
// restore it, and no dcc.Location sees the change, so the page is never rebuilt for it.
// (A second dcc.Location did this before; two Locations kept the pages router re-rendering.)
window.csopsPageState = {
  // changes: {key: value | [values] | null}; null, "" and [] remove the key.
  // Returns the new query string, or no_update when nothing changed.
  write: function (changes) {
    var url = new URL(window.location.href);
    var params = url.searchParams;
    Object.keys(changes).forEach(function (key) {
      var value = changes[key];
      params.delete(key);
      var values = Array.isArray(value) ? value : value === null || value === undefined ? [] : [value];
      values.forEach(function (v) {
        if (v !== null && v !== undefined && String(v) !== "") {
          params.append(key, String(v));
        }
      });
    });
    var query = params.toString();
    var search = query ? "?" + query : "";
    if (search === window.location.search) {
      return window.dash_clientside.no_update;
    }
    window.history.replaceState(window.history.state, "", url.pathname + search + url.hash);
    return search;
  },
};
