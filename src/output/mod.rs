//! Everything the operator sees: results on stdout as a table or JSON,
//! progress on stderr (bars on a terminal, a log line every 10 s otherwise).
//! Commands build reports; this layer renders them.

pub mod printer;
pub mod progress;
pub mod prometheus;
pub mod tables;

pub use printer::{Printer, Report};
pub use progress::Progress;
