namespace Federation.Specialists;
