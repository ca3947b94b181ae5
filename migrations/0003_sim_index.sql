-- The simulated cloud looks servers up by name (like a label selector): keep it fast for
-- large simulated fleets.
CREATE INDEX sim_servers_name ON sim_servers(name);
