mod alerts;
mod cli_json;
mod config_check;
mod daemon;
mod durability;
mod faults;
mod fetching;
mod ingest;
