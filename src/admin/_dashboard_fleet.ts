/**
 * The dashboard's fleet view (`Plugins.Cluster`): every host of the fleet and what it runs, from `GET /cluster`,
 * refreshed with the plugins and on each `fleet` or `bundle` event. Appended to the page's script, whose
 * helpers (`$`, `el`, `api`, `badge`) it uses; like it, it writes data only as `textContent`.
 *
 * @module
 */

/** The fleet part of the dashboard's script. */
export const DASHBOARD_FLEET_SCRIPT: string = String.raw`
async function refreshFleet() {
  const view = await api("cluster");
  const section = $("#fleet");
  section.hidden = view.hostId === null;
  if (view.hostId === null) return;
  $("#fleet-name").textContent = view.name;
  const rows = view.hosts.map((h) => {
    const plugins = el("ul", { className: "fleet-plugins" }, ...h.plugins.map((p) => {
      const li = el("li", { textContent: p.id + " " + p.version + " " }, el("span"));
      badge(li.lastChild, "state", p.state);
      return li;
    }));
    if (h.plugins.length === 0) plugins.append(el("li", { textContent: "no plugins" }));
    const tr = el("tr", {},
      el("th", { scope: "row", textContent: h.hostId + (h.self ? " (this host)" : "") }),
      el("td", { textContent: String(h.plugins.length) }),
      el("td", {}, plugins));
    tr.dataset.host = h.hostId;
    return tr;
  });
  $("#fleet-hosts tbody").replaceChildren(...rows);
  $("#fleet-hosts").setAttribute("aria-busy", "false");
}
`;

/** The fleet section of the page (hidden until `GET /cluster` names a fleet). */
export const DASHBOARD_FLEET_HTML: string = `
  <section id="fleet" hidden aria-labelledby="fleet-title">
    <h2 id="fleet-title">Fleet <span id="fleet-name"></span></h2>
    <table id="fleet-hosts" aria-busy="true">
      <caption class="visually-hidden">Every host of the fleet and its plugins</caption>
      <thead><tr><th scope="col">Host</th><th scope="col">Plugins</th><th scope="col">Running there</th></tr></thead>
      <tbody></tbody>
    </table>
  </section>`;
