//! Intake: what voice platforms and EHRs push in. Sources (who may send, and how each proves
//! it), the verification of a message (`verify`), and the inbox of accepted messages.

pub mod verify;
