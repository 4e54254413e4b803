// No database: records live in a Map, and a second create of a key is refused with 409
// Conflict, as an OData service with a unique key does.
const cds = require('@sap/cds')
module.exports = class InvoiceService extends cds.ApplicationService {
  init() {
    const records = new Map()
    const keyOf = (d) => `${d.VendorAccount}\u0000${d.InvoiceNumber}`
    this.on('CREATE', 'VendorInvoices', (req) => {
      const k = keyOf(req.data)
      if (records.has(k)) return req.reject(409, 'ENTITY_ALREADY_EXISTS')
      records.set(k, { ...req.data })
      return req.data
    })
    this.on('READ', 'VendorInvoices', () => [...records.values()])
    return super.init()
  }
}
