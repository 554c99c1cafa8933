mod cli_json;
mod config_check;
mod ingest;
