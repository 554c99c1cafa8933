mod cli_json;
mod config_check;
mod daemon;
mod ingest;
