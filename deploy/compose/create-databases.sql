-- One database per service; no service reads another's.
CREATE DATABASE registry;
CREATE DATABASE clues;
CREATE DATABASE risk;
CREATE DATABASE gateway;
