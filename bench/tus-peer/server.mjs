// The peer for bench/bench_uploads.py: @tus/server with its file store, on 127.0.0.1:<port>.
import http from "node:http";
import { FileStore } from "@tus/file-store";
import { Server } from "@tus/server";

const [port, directory] = process.argv.slice(2);
const tus = new Server({ path: "/files", datastore: new FileStore({ directory }) });
http.createServer((req, res) => tus.handle(req, res)).listen(Number(port), "127.0.0.1", () => {
  console.log("ready");
});
