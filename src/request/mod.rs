//! The request model.
mod fields;
