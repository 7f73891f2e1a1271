//! raceway-transport-http (being built).
