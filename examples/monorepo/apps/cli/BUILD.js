import { target } from "zako:build";
import { jsBinary } from "../../build_defs/js.js";

target(jsBinary("shop-cli", "src/main.js", ["//libs/http:http", "//libs/config:config", "//libs/util:util"]));
