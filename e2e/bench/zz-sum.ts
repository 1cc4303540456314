import { summarizeFile } from "./profile/cpuprofile-summary.js";

const [file, last, top] = process.argv.slice(2);
process.stdout.write(summarizeFile(file!, Number(top ?? 40), Number(last)));
