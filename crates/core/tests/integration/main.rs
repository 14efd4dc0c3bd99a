//! Integration tests of mugai-core: the golden corpus and engine properties.

mod engine;
mod golden;
mod hostile;
mod layout;
mod lure;
