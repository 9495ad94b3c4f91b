//! The doors: each one translates its own wire to hub requests and the hub's
//! events back to its wire. No door knows about another.

mod meter;
mod recall;
pub mod tcp;
pub mod ws;
