//! raceway-transport-std (being built).
