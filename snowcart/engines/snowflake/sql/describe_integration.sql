DESC INTEGRATION {integration};
