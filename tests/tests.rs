//! All integration tests build into this one binary (faster to link, as ripgrep does).
//! They run the real `feedfold` binary on real SQLite files and fetch from real HTTP servers on
//! 127.0.0.1; nothing touches the network.

mod common;
mod suite;
