//! # demandflow-bench — plugs demandflow into the shared peer benchmark harness
//!
//! (being written)

fn main() {}
