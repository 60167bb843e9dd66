// Preloaded into pouchdb-server by scripts/couchdb-server (node --require): leaves out
// the parts of express-pouchdb that cost CPU on every request and that nothing of
// drwlab's uses, on a server that has no accounts anyway (pouchdb-server 4.2 cannot
// take a password: everyone is admin, so no database's security object is ever checked).
// Measured in bench/README.md ("What pouchdb-server spends a request on"):
//   disk-size        every request's session check asks _users for its info, which
//                    lists and stats the files of _users on disk for a disk_size
//   routes/security  reads the database's _security object before every request
//   routes/http-log  formats every request's headers for a debug line, and its log line
//   routes/rewrite   design-document rewrites, matched against every request
//   validation       before every write, reads every design document of the database
//                    (include_docs) for validate_doc_update functions, which drwlab never
//                    defines: its Mango indexes are design documents, so every write paid for
//                    reading them (a tenth of the server's busy CPU in a 50-OUS run)
//   compression      negotiates and wraps every response; drwlab asks for no gzip anyway
//   routes/vhosts    resolves virtual hosts for every request (none are configured)
//   routes/special-test-auth   reads the config for Apache CouchDB's own test-suite
//                    authentication handler on every request
// Left as they were: Fauxton (/_utils), _session, _find, _changes, _bulk_docs, ...
// Database infos carry no disk_size, /db/_security is not served, no request is logged,
// validate_doc_update functions are not run, responses are never gzipped.
"use strict";

const path = require("path");

const LEFT_OUT = [
  "disk-size",
  "routes/security",
  "routes/http-log",
  "routes/rewrite",
  "validation",
  "compression",
  "routes/vhosts",
  "routes/special-test-auth",
];

const serverDir = path.dirname(require.resolve("pouchdb-server/package.json"));
const expressPouchdbPath = require.resolve("express-pouchdb", { paths: [serverDir] });
const expressPouchdb = require(expressPouchdbPath);

function leanExpressPouchdb(options) {
  const opts = Object.assign({}, options);
  const override = Object.assign({ include: [], exclude: [] }, opts.overrideMode);
  override.exclude = override.exclude.concat(LEFT_OUT);
  opts.overrideMode = override;
  return expressPouchdb(opts);
}

require.cache[expressPouchdbPath].exports = Object.assign(leanExpressPouchdb, expressPouchdb);
