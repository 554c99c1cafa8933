mod cli_json;
mod config_check;
mod daemon;
mod fetching;
mod ingest;
