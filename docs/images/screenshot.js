// Screenshot of a running Dagster UI (docs/images/lineage.png was made with it):
//   tokenlake demo &   then   npm install playwright-core@1.64.1 && node docs/images/screenshot.js http://127.0.0.1:3000/asset-groups lineage.png
// (Debian chromium at /usr/bin/chromium; the picture was then cropped to the graph.)
const { chromium } = require('playwright-core');
(async () => {
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'] });
  const page = await browser.newPage({ viewport: { width: 1800, height: 1000 } });
  await page.goto(process.argv[2], { waitUntil: 'networkidle', timeout: 120000 });
  const skip = page.getByRole('button', { name: 'Skip' });
  if (await skip.count()) await skip.click();
  await page.waitForTimeout(8000);
  await page.screenshot({ path: process.argv[3] });
  await browser.close();
})();
