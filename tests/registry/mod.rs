//! Registry tests, one module per instruction.

mod accept_admin;
mod anchor_id_batch;
mod create_track;
mod initialize;
mod pause;
mod propose_admin;
mod publish_root;
mod ring_model;
mod set_registrar;
mod unpause;
mod verify_ownership;
