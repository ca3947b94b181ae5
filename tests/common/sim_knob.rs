//! Sets one knob of a simulated host (`gateway_down`, `pairing`, …) in the store.

use clawops::app::App;

/// Sets `knob` of the simulated host of `name` to `value`.
pub async fn knob(app: &App, name: &str, knob: &str, value: serde_json::Value) {
    let row = app.store.instance(name).await.unwrap().unwrap();
    let id: i64 = row.server_id.unwrap().parse().unwrap();
    let server = app.store.sim_server(id).await.unwrap().unwrap();
    let mut host: serde_json::Value = serde_json::from_str(&server.host).unwrap();
    host[knob] = value;
    app.store.sim_set_host(id, &host.to_string()).await.unwrap();
}
