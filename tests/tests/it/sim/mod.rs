//! The simulator from the outside: its service, inventory, wire schemas and
//! behaviour under load.

mod inventory;
mod load;
mod schema;
mod service;
