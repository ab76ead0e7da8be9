/** `npm test`: every test, once (testing/run-all.ts says what runs and in which order). */
import "../testing/run-all";
