namespace Federation.Registry;
