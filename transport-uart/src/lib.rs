//! raceway-transport-uart (being built).
