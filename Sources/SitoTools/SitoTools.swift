// SitoTools module.
